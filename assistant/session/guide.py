"""The guided session: walks the plan, keeps time on an injected clock, reacts to commands.

It never sleeps and imports no audio library: speech goes to a `Voice`, time
comes from a `Clock`, and a runner calls `tick()` and `command()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from transitions import EventData, Machine

from assistant.events import EventLog
from assistant.ports import Clock, Voice
from assistant.session.dialog import Dialog
from assistant.session.plan import PlanItem, make_plan
from assistant.session.routines import Routine
from assistant.session.safety import (
    Screening,
    ScreeningPlan,
    ScreeningPlans,
    load_screening,
    plans_for,
)
from assistant.session.screening import ResumeOffer, ScreeningMixin
from assistant.session.states import STATES, TRANSITIONS, State
from assistant.session.vocabulary import Vocabulary
from assistant.settings import PACES, PRESSURES, Mode, SessionSettings

VALIDITY = ("state", "awaiting")
"""Events after which the commands understood may have changed (`valid_intents`)."""


@dataclass(frozen=True)
class Command:
    intent: str | None
    """None when the words matched no command."""
    phrase: str
    source: str
    """'text' or 'voice'."""


class Session(ScreeningMixin):
    state: str
    may_trigger: Callable[[str], bool]

    def __init__(
        self,
        routine: Routine,
        settings: SessionSettings,
        clock: Clock,
        voice: Voice,
        events: EventLog,
        dialog: Dialog,
        vocabulary: Vocabulary,
        screening_plan: ScreeningPlan | ScreeningPlans | None = None,
        screening: Screening | None = None,
        start_index: int = 0,
        resume_offer: ResumeOffer | None = None,
    ) -> None:
        """`screening_plan`: one for whoever is massaged, or one per person (self,
        partner); `resume_offer`: an unfinished session to offer at the start."""
        self.routine = routine
        self.settings = settings
        self.clock = clock
        self.voice = voice
        self.events = events
        self.dialog = dialog
        self.vocabulary = vocabulary
        self.plan: tuple[PlanItem, ...] = make_plan(routine)
        self.index = min(max(start_index, 0), len(self.plan) - 1)
        self.pressure = PRESSURES.index(settings.pressure)
        self.pace = settings.pace_factor
        self.remaining_s = 0.0
        self.total_s = 0.0
        self.cues_spoken = 0
        self.pains = 0
        self._pain_pending = False
        self.mode: Mode = settings.mode or "self"
        self.mode_known = settings.mode is not None
        self._quiet_s = 0.0
        self.ended_by_user = False
        self.screening_done = False
        self._fresh = True
        self._last_tick = clock.now()
        self._init_screening(screening or load_screening(), plans_for(screening_plan), resume_offer)
        self.machine = Machine(
            model=self,
            states=STATES,
            transitions=TRANSITIONS,
            initial=State.READY,
            queued=True,
            ignore_invalid_triggers=True,
            auto_transitions=False,
            send_event=True,
        )
        voice.set_pace(self.pace)

    # ----- what the runner calls -------------------------------------------------

    def begin(self) -> None:
        self.trigger("start")

    @property
    def finished(self) -> bool:
        return self.state == State.FINISHED

    def valid_intents(self) -> frozenset[str]:
        """Commands that make sense now: used for the speech grammar, the help line and the
        screen's hint. Conditions count: while "myself or partner?" is asked, yes is not one.
        It changes only with the state or with what is awaited ('state', 'awaiting' events)."""
        triggers = set(self.machine.get_triggers(self.state))
        return frozenset(
            i.name for i in self.vocabulary.intents
            if i.name in triggers and self.may_trigger(i.name)
        )

    def command(self, cmd: Command) -> None:
        valid = cmd.intent is not None and self.may_trigger(cmd.intent)
        self.events.emit(
            "command", intent=cmd.intent, phrase=cmd.phrase, source=cmd.source, accepted=valid
        )
        if not valid and self.state == State.SCREENING and self.screening_reply(cmd.intent):
            return
        if cmd.intent is None:
            self._say("not_understood")
        elif not valid:
            self._say(self._not_now_key(cmd.intent))
        else:
            self.trigger(cmd.intent)

    def tick(self) -> None:
        """Let the step timer run; it holds while the assistant is speaking."""
        now = self.clock.now()
        elapsed, self._last_tick = now - self._last_tick, now
        self.screening_tick(now)
        if self.state not in (State.RUNNING, State.SWITCHING) or self.voice.busy():
            return
        self.remaining_s -= elapsed
        self._speak_due_cues()
        self._partner_checkin(elapsed)
        if self.remaining_s <= 0:
            self.trigger("time_up")

    def _not_now_key(self, intent: str) -> str:
        """This command's own answer in this state where the state's general one would not
        help ("resume" while running: already going)."""
        own = f"not_now_command.{intent}.{self.state_name}"
        return own if self.dialog.has(own) else f"not_now.{self.state_name}"

    @property
    def state_name(self) -> str:
        return State(self.state).value

    @property
    def item(self) -> PlanItem:
        return self.plan[self.index]

    # ----- conditions --------------------------------------------------------------

    def target_is_end(self, event: EventData) -> bool:
        return self._target_of(event) >= len(self.plan)

    def target_is_switch(self, event: EventData) -> bool:
        target = self._target_of(event)
        return target < len(self.plan) and self.plan[target].kind == "switch"

    def screening_unfinished(self, event: EventData) -> bool:
        return not self.screening_done

    def _target_of(self, event: EventData) -> int:
        name = event.event.name
        if name in ("time_up", "skip"):
            return self.index + 1
        if name == "back":
            return max(self.index - 1, 0)
        return self.index

    # ----- before-callbacks --------------------------------------------------------

    def move_forward(self, event: EventData) -> None:
        if event.event.name == "time_up":  # done, not skipped: history counts these
            item = self.item
            self.events.emit("step_done", id=item.step.id, index=self.index, foot=item.foot)
        self._go_to(self.index + 1)
        if event.event.name == "skip":
            self._say("ack_skip")

    def move_back(self, event: EventData) -> None:
        target = max(self.index - 1, 0)
        restart = target == self.index
        self._go_to(target)
        self._say("ack_restart" if restart else "ack_back")

    def _go_to(self, target: int) -> None:
        self.voice.silence()
        self.index = min(target, len(self.plan) - 1)
        self._fresh = target < len(self.plan)

    def fresh_item(self, event: EventData) -> None:
        self.screening_done = True
        self._fresh = True

    def continue_item(self, event: EventData) -> None:
        self._fresh = False

    def count_pain(self, event: EventData) -> None:
        self.pains += 1
        self._pain_pending = True

    def mark_ended_by_user(self, event: EventData) -> None:
        self.ended_by_user = True

    # ----- entering states ---------------------------------------------------------

    def _welcome(self) -> None:
        minutes = max(1, round(self._session_seconds_left() / 60))
        self._say(
            "welcome",
            routine=self.routine.title,
            length=self._count("duration.minutes", minutes),
            mode_phrase=self.dialog.line(f"mode_{self.mode}"),
        )
        # Every session: in full the first time, then in its short form.
        self._say("disclaimer_short" if self.settings.disclaimer_heard else "disclaimer")
        if self.settings.routine_remembered:
            self._say("remembered_routine")
        if self.settings.pressure_remembered:
            level = self.dialog.line(f"pressure_name.{PRESSURES[self.pressure]}")
            self._say("remembered_pressure", level=level)
        if self.settings.pace_remembered is not None:
            slower = self.settings.pace_remembered == "slower"
            pace = self.dialog.line("pace_compare.slower" if slower else "pace_compare.faster")
            self._say("remembered_pace", pace=pace)
        self._say("how_to_talk")

    def enter_running(self, event: EventData) -> None:
        self._enter_item(chime="step")

    def enter_switching(self, event: EventData) -> None:
        self._enter_item(chime="switch")

    def _enter_item(self, chime: str) -> None:
        if not self._fresh:
            self._say("ack_resume")
            self._lighter_after_pain()
            self._say_instruction()
            return
        self._lighter_after_pain()
        item = self.item
        scale = self.settings.time_scale * self.pace
        self.total_s = item.step.duration_s * scale
        self.remaining_s = self.total_s
        self.cues_spoken = 0
        self._last_tick = self.clock.now()
        self.events.emit("step", id=item.step.id, index=self.index, foot=item.foot, kind=item.kind)
        self.voice.chime(chime)
        intro = "foot_intro" if item.foot == 2 and item.kind == "step" else "step_intro"
        self._say(intro, title=item.step.title)
        self._say_instruction()

    def _lighter_after_pain(self) -> None:
        """Going on after pain: one pressure level lighter (unless already light), said."""
        if not self._pain_pending:
            return
        self._pain_pending = False
        if self.pressure == 0:
            return
        self.pressure -= 1
        self.events.emit("pressure", level=PRESSURES[self.pressure], reason="pain")
        level = self.dialog.line(f"pressure_name.{PRESSURES[self.pressure]}")
        self._say("pain_lighter", level=level)

    def enter_paused(self, event: EventData) -> None:
        self.voice.silence()
        self.voice.chime("pause")
        self._say("ack_pause")

    def enter_stopped(self, event: EventData) -> None:
        self.voice.silence()
        self.voice.chime("stop")
        if event.event.name == "pain":
            self._say("ack_pain_again" if self.pains > 1 else "ack_pain")
        else:
            self._say("ack_stop")

    def enter_finished(self, event: EventData) -> None:
        if self.ended_by_user:
            self.voice.silence()
            self._say("ended")
        else:
            self._say("goodbye")

    # ----- internal transitions ----------------------------------------------------

    def say_repeat(self, event: EventData) -> None:
        self.voice.silence()
        self._say_instruction()

    def go_slower(self, event: EventData) -> None:
        self._change_pace(+1)

    def go_faster(self, event: EventData) -> None:
        self._change_pace(-1)

    def _change_pace(self, direction: int) -> None:
        s = self.settings
        new = round(
            min(max(self.pace + direction * s.pace_step, s.min_pace_factor), s.max_pace_factor), 3
        )
        if new == self.pace:
            self._say("ack_slowest" if direction > 0 else "ack_fastest")
            return
        ratio = new / self.pace
        self.remaining_s *= ratio
        self.total_s *= ratio
        self.pace = new
        self.voice.set_pace(new)
        # Against the routine's own pace: slower in a quick routine is still slower at bedtime.
        relative = round(new / PACES[self.routine.default_pace], 3)
        self.events.emit("pace", factor=new, relative=relative)
        self._say("ack_slower" if direction > 0 else "ack_faster")

    def press_lighter(self, event: EventData) -> None:
        self._change_pressure(-1)

    def press_firmer(self, event: EventData) -> None:
        self._change_pressure(+1)

    def _change_pressure(self, direction: int) -> None:
        new = self.pressure + direction
        if self.gentle and new > 0:
            self._say("safety.gentle_only")
            return
        if not 0 <= new < len(PRESSURES):
            self._say("ack_lightest" if direction < 0 else "ack_firmest")
            return
        self.pressure = new
        self.events.emit("pressure", level=PRESSURES[new])
        self._say("ack_less_pressure" if direction < 0 else "ack_more_pressure")
        self._say_pressure()

    def say_time_left(self, event: EventData) -> None:
        key = {State.PAUSED: "time_left_paused", State.STOPPED: "time_left_stopped"}.get(
            State(self.state), "time_left"
        )
        self._say(
            key,
            step=self._duration(self.remaining_s),
            total=self._duration(self._session_seconds_left()),
        )

    def voice_louder(self, event: EventData) -> None:
        self._change_volume(+1)

    def voice_quieter(self, event: EventData) -> None:
        self._change_volume(-1)

    def _change_volume(self, step: int) -> None:
        if not self.voice.set_volume_step(0):
            # Not even a step of nothing: there is no volume at all (lines are printed).
            self._say("ack_no_volume")
            return
        if not self.voice.set_volume_step(step):
            self._say("ack_loudest" if step > 0 else "ack_quietest")
            return
        self.events.emit("volume", step=step)
        self._say("ack_louder" if step > 0 else "ack_quieter")

    def choose_myself(self, event: EventData) -> None:
        self._choose_mode("self")

    def choose_partner(self, event: EventData) -> None:
        self._choose_mode("partner")

    def _choose_mode(self, mode: Mode, defaulted: bool = False) -> None:
        """`defaulted`: nobody answered the mode question (said so; not remembered)."""
        changed = not self.mode_known or mode != self.mode
        self.mode, self.mode_known = mode, True
        self.events.emit("mode", mode=mode, defaulted=defaulted)
        self._say("mode_default_self" if defaulted else f"mode_chosen_{mode}")
        self.person_chosen(changed)

    def say_help(self, event: EventData) -> None:
        valid = self.valid_intents()
        shown = [i.phrases[0] for i in self.vocabulary.intents if i.name in valid]
        self._say("help", commands=", ".join(shown))

    # ----- speaking ----------------------------------------------------------------

    def _say(self, key: str, **params: object) -> None:
        self._say_text(key, self.dialog.line(key, **params))

    def _say_text(self, key: str, text: str) -> None:
        self._quiet_s = 0.0
        self.asked_at = None  # an answer's time starts when the assistant stops talking
        self.events.emit("say", key=key, text=text)
        self.voice.say(text)

    def _say_instruction(self) -> None:
        step = self.item.step
        self._say_text(f"step.{step.id}", step.instruction.for_mode(self.mode))
        self._say_pressure()

    def _say_pressure(self) -> None:
        guidance = self.item.step.pressure.get(PRESSURES[self.pressure])
        if guidance is not None:
            self._say_text(f"pressure.{PRESSURES[self.pressure]}", guidance.for_mode(self.mode))

    def _speak_due_cues(self) -> None:
        step = self.item.step
        done = 1 - self.remaining_s / self.total_s if self.total_s > 0 else 1.0
        while self.cues_spoken < len(step.cues) and step.cues[self.cues_spoken].at_fraction <= done:
            cue = step.cues[self.cues_spoken]
            self.cues_spoken += 1
            if self.mode in cue.modes:
                self._say_text(f"cue.{step.id}", cue.text.for_mode(self.mode))

    def _partner_checkin(self, elapsed: float) -> None:
        """The giver is reminded to ask about pressure when nothing was said for a while."""
        self._quiet_s += elapsed
        interval = self.settings.checkin_interval_s * self.settings.time_scale
        if self.mode == "partner" and self._quiet_s >= interval:
            self._say("partner_checkin")

    def _session_seconds_left(self) -> float:
        scale = self.settings.time_scale * self.pace
        later = sum(item.step.duration_s for item in self.plan[self.index + 1 :]) * scale
        current = self.remaining_s
        if self.state in (State.READY, State.SCREENING):
            current = self.item.step.duration_s * scale
        return later + max(current, 0.0)

    def _duration(self, seconds: float) -> str:
        total = max(round(seconds), 0)
        minutes, secs = divmod(total, 60)
        if minutes == 0:
            return self._count("duration.seconds", secs)
        if minutes >= 3 or secs == 0:
            return self._count("duration.minutes", minutes + (secs >= 30))
        return self.dialog.line(
            "duration.both",
            minutes=self._count("duration.minutes", minutes),
            seconds=self._count("duration.seconds", secs),
        )

    def _count(self, key: str, count: int) -> str:
        """`count` of a unit in words, singular or plural as the dialog file spells it."""
        return self.dialog.line(f"{key}.{'one' if count == 1 else 'other'}", count=count)

    def log_state(self, event: EventData) -> None:
        if event.transition is not None and event.transition.dest is not None:
            source = State[event.transition.source].value
            self.events.emit("state", **{"from": source, "to": self.state_name})
