"""Acoustic echo cancellation: the assistant's own voice taken out of the microphone."""

from assistant.listening.echo_canceller.canceller import EchoCanceller, EchoStats, reduction_db
from assistant.listening.echo_canceller.reference import EchoReference, StreamResampler

__all__ = ["EchoCanceller", "EchoReference", "EchoStats", "StreamResampler", "reduction_db"]
