"""Exceptions raised by the engine.

Every class derives from :class:`AudioEngineError`, itself a :class:`RuntimeError`, because
existing callers catch ``RuntimeError`` (the failure type of the original design). The more
precise classes also derive from the matching built-in type, so ``except ValueError`` and
``except FileNotFoundError`` work as well.
"""


class AudioEngineError(RuntimeError):
    """Base class of every engine error (a ``RuntimeError``)."""


class TrackFormatError(ValueError, AudioEngineError):
    """A track definition is invalid: JSON syntax (with line and column), a wrong type, a
    missing field, a value out of range, or an unknown synth function. The message names the
    file and the JSON path, e.g. ``t.json: steps[2].voices[0].params.beatFreq: must be a
    finite number >= 0``."""


class AudioDecodeError(ValueError, AudioEngineError):
    """An audio input file (clip, recording) exists but cannot be decoded."""


class MidiError(ValueError, AudioEngineError):
    """A MIDI file or SoundFont is corrupt or unsupported; the message names the file."""


class AnalysisError(ValueError, AudioEngineError):
    """A waveform or analysis setting is out of range, or there is nothing to analyse (a MIDI
    file without pitched notes, an empty recording)."""


class AudioFileNotFoundError(FileNotFoundError, AudioEngineError):
    """An input file (track, clip, MIDI, SoundFont) does not exist."""


class AudioIOError(OSError, AudioEngineError):
    """Reading an input or writing an output file failed (other than "not found")."""


class ClipSamplesError(ValueError, AudioEngineError):
    """``push_clip_samples`` got unusable audio: an odd number of samples (it must be
    interleaved stereo), a value that is not a finite number, or something that is not a
    sequence of numbers."""


class ClipIndexError(IndexError, ClipSamplesError):
    """``push_clip_samples`` named a clip the playing track does not have (index < 0 or
    >= ``len(clips)``). Also an ``IndexError`` and a ``ValueError``."""


class DeviceError(AudioEngineError):
    """No audio output device, or the device failed while playing."""


__all__ = [
    "AudioEngineError",
    "TrackFormatError",
    "AudioDecodeError",
    "MidiError",
    "AnalysisError",
    "AudioFileNotFoundError",
    "AudioIOError",
    "DeviceError",
    "ClipSamplesError",
    "ClipIndexError",
]
