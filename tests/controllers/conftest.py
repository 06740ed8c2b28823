import pytest
import torch

from search_spaces import SearchSpace


@pytest.fixture(autouse=True)
def single_torch_thread():
    # The controller's tensors are tiny; on a shared 2-core machine intra-op threads
    # only contend (the same run took 0.8 s with one thread and up to 39 s with two).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def space():
    return SearchSpace()
