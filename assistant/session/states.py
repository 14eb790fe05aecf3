"""The session state machine as data: the states and the transitions table.

Triggers are named after command intents, so `may_<intent>()` tells whether a
command makes sense now and `get_triggers(state)` builds each state's grammar.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class State(StrEnum):
    READY = "ready"
    SCREENING = "screening"
    RUNNING = "running"
    PAUSED = "paused"
    SWITCHING = "switching"
    STOPPED = "stopped"
    FINISHED = "finished"


# The state event comes first on entering a state, before anything said there, so
# whoever reads the events in order knows the state a line belongs to.
STATES: list[dict[str, Any]] = [
    {"name": State.READY},
    {"name": State.SCREENING, "on_enter": ["log_state", "enter_screening"]},
    {"name": State.RUNNING, "on_enter": ["log_state", "enter_running"]},
    {"name": State.PAUSED, "on_enter": ["log_state", "enter_paused"]},
    {"name": State.SWITCHING, "on_enter": ["log_state", "enter_switching"]},
    {"name": State.STOPPED, "on_enter": ["log_state", "enter_stopped"]},
    {"name": State.FINISHED, "on_enter": ["log_state", "enter_finished"]},
]

ACTIVE = [State.RUNNING, State.SWITCHING]
HALTED = [State.PAUSED, State.STOPPED]
LIVE = [State.SCREENING, *ACTIVE, *HALTED]


def _moves(trigger: str, before: str) -> list[dict[str, Any]]:
    """Moving to another item lands in finished, switching or running, by what it is."""
    common = {"trigger": trigger, "source": ACTIVE, "before": before}
    return [
        {**common, "dest": State.FINISHED, "conditions": "target_is_end"},
        {**common, "dest": State.SWITCHING, "conditions": "target_is_switch"},
        {**common, "dest": State.RUNNING},
    ]


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "start", "source": State.READY, "dest": State.SCREENING},
    {
        "trigger": "screened",
        "source": State.SCREENING,
        "dest": State.SWITCHING,
        "conditions": "target_is_switch",
        "before": "fresh_item",
    },
    {
        "trigger": "screened",
        "source": State.SCREENING,
        "dest": State.RUNNING,
        "before": "fresh_item",
    },
    *_moves("time_up", "move_forward"),
    *_moves("skip", "move_forward"),
    *_moves("back", "move_back"),
    {"trigger": "pause", "source": [State.SCREENING, *ACTIVE], "dest": State.PAUSED},
    {"trigger": "stop", "source": [State.SCREENING, *ACTIVE, State.PAUSED], "dest": State.STOPPED},
    {"trigger": "pain", "source": LIVE, "dest": State.STOPPED, "before": "count_pain"},
    {
        "trigger": "resume",
        "source": HALTED,
        "dest": State.SCREENING,
        "conditions": "screening_unfinished",
    },
    {
        "trigger": "resume",
        "source": HALTED,
        "dest": State.SWITCHING,
        "conditions": "target_is_switch",
        "before": "continue_item",
    },
    {"trigger": "resume", "source": HALTED, "dest": State.RUNNING, "before": "continue_item"},
    {
        "trigger": "yes",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "awaiting_answer",
        "after": "answer_yes",
    },
    {
        "trigger": "no",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "awaiting_answer",
        "after": "answer_no",
    },
    # Going on gently after a doctor-first yes: then "screened" moves on.
    {
        "trigger": "gently",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "choice_pending",
        "after": "go_gently",
    },
    {
        "trigger": "resume",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "choice_pending",
        "after": "go_gently",
    },
    {
        "trigger": "myself",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "mode_choosable",
        "after": "choose_myself",
    },
    {
        "trigger": "partner",
        "source": State.SCREENING,
        "dest": None,
        "conditions": "mode_choosable",
        "after": "choose_partner",
    },
    {"trigger": "myself", "source": [*ACTIVE, *HALTED], "dest": None, "after": "choose_myself"},
    {"trigger": "partner", "source": [*ACTIVE, *HALTED], "dest": None, "after": "choose_partner"},
    {"trigger": "safety_check", "source": [*ACTIVE, *HALTED], "dest": State.SCREENING},
    # The person massaged changed mid-session and needs screening (screening.py).
    {"trigger": "screen_person", "source": [*ACTIVE, *HALTED], "dest": State.SCREENING},
    {
        "trigger": "end_session",
        "source": [State.READY, *LIVE],
        "dest": State.FINISHED,
        "before": "mark_ended_by_user",
    },
    # Internal transitions: they change settings or answer, the state stays.
    {"trigger": "repeat", "source": [*ACTIVE, State.PAUSED], "dest": None, "after": "say_repeat"},
    {"trigger": "repeat", "source": State.SCREENING, "dest": None, "after": "repeat_prompt"},
    {"trigger": "slower", "source": [*ACTIVE, State.PAUSED], "dest": None, "after": "go_slower"},
    {"trigger": "faster", "source": [*ACTIVE, State.PAUSED], "dest": None, "after": "go_faster"},
    {
        "trigger": "less_pressure",
        "source": [*ACTIVE, State.PAUSED],
        "dest": None,
        "after": "press_lighter",
    },
    {
        "trigger": "more_pressure",
        "source": [*ACTIVE, State.PAUSED],
        "dest": None,
        "after": "press_firmer",
    },
    {"trigger": "time_left", "source": [*ACTIVE, *HALTED], "dest": None, "after": "say_time_left"},
    {"trigger": "louder", "source": [State.READY, *LIVE], "dest": None, "after": "voice_louder"},
    {"trigger": "quieter", "source": [State.READY, *LIVE], "dest": None, "after": "voice_quieter"},
    {"trigger": "help", "source": [State.READY, *LIVE], "dest": None, "after": "say_help"},
]


def triggers_from(state: State) -> frozenset[str]:
    """Every trigger with `state` among its sources, conditions aside: what a session
    listens for there (`Guide.valid_intents` also weighs the conditions), for measuring
    hearing as a session in that state hears."""
    found = set()
    for move in TRANSITIONS:
        source = move["source"]
        if state in (source if isinstance(source, list) else [source]):
            found.add(str(move["trigger"]))
    return frozenset(found)
