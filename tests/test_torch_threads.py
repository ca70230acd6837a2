"""The torch thread: one thread computes whatever any thread hands it, in order, and never waits on itself."""

import os
import signal
import threading

import pytest

from assistant.torch_threads import TorchThread


def test_run_returns_the_result_computed_on_the_torch_thread():
    torch_thread = TorchThread()
    assert torch_thread.run(threading.get_ident) != threading.get_ident()
    assert torch_thread.run(threading.get_ident) == torch_thread.run(threading.get_ident)
    assert torch_thread.run(lambda a, b=0: a + b, 2, b=3) == 5


def test_an_error_is_raised_in_the_caller_and_the_thread_goes_on():
    torch_thread = TorchThread()

    def fail() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        torch_thread.run(fail)
    assert torch_thread.run(lambda: "still here") == "still here"


def test_work_handed_over_from_the_torch_thread_runs_at_once_instead_of_waiting_on_itself():
    torch_thread = TorchThread()
    outer = torch_thread.run(lambda: torch_thread.run(lambda: threading.current_thread().name))
    assert outer == torch_thread.name
    assert torch_thread.run(lambda: torch_thread.submit(lambda: 7).done())


def test_callers_on_many_threads_are_served_one_at_a_time_in_order():
    torch_thread, running, overlaps = TorchThread(), [], []
    gate = threading.Event()

    def task(index: int) -> int:
        running.append(index)
        if len(running) > 1:
            overlaps.append(index)
        gate.wait(0.01)
        running.remove(index)
        return index

    futures = [torch_thread.submit(task, i) for i in range(20)]
    results: list[int] = []
    callers = [threading.Thread(target=lambda i=i: results.append(torch_thread.run(task, 100 + i))) for i in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert [f.result() for f in futures] == list(range(20))
    assert sorted(results) == [100, 101, 102, 103] and not overlaps


def test_a_thread_count_set_before_the_first_use_carries_over():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert TorchThread().run(torch.get_num_threads) == 1
    finally:
        torch.set_num_threads(before)


def test_a_forked_child_gets_a_torch_thread_of_its_own():
    torch_thread = TorchThread()
    torch_thread.run(lambda: None)  # the parent's thread exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its work is done (a lost thread would hang until the alarm)
        signal.alarm(10)
        os._exit(0 if torch_thread.run(lambda: 42) == 42 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
