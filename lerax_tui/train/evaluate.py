"""``from lerax_tui.train.evaluate import evaluate`` keeps working (the code is in ``evaluation``).

Importing this submodule makes Python set ``lerax_tui.train.evaluate`` to the module, which would
shadow the public function ``from lerax_tui.train import evaluate``; the module is therefore made
callable with the function's signature, so both spellings evaluate.
"""

from __future__ import annotations

import sys
import types

from lerax_tui.train.evaluation import DEFAULT_STEP_LIMIT, evaluate

__all__ = ["evaluate", "DEFAULT_STEP_LIMIT"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
