import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny tensors gain nothing from threads, and on a shared 2-core machine OpenMP threads
    that wait for each other turn milliseconds into seconds."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
