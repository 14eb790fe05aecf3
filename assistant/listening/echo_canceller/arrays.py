"""The array types and the 16-bit full scale that every part of the canceller shares."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Real = npt.NDArray[np.float64]
Complex = npt.NDArray[np.complex128]

INT16 = 32768.0
"""Full scale of the microphone's 16-bit samples: the reference is in [-1, 1]."""
