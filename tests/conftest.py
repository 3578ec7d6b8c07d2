"""Every test starts from the same global random state.

torch seeds its global generator differently in every process here (torch.initial_seed()
changes from run to run), so a test that reaches code drawing from it, knowingly or not,
would pass or fail by chance. The library draws from explicit generators; this keeps the
tests reproducible where something still does not.
"""
import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _same_global_random_state():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield
