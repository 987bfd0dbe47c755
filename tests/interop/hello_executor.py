# A pymesos (PyPI) executor for the interop tests: reports TASK_RUNNING and
# says hello with a framework message; answers `ping` with `pong` and
# finishes the task.
import os, sys, threading
sys.path.insert(0, os.environ["SHIM"])
from pymesos import MesosExecutorDriver, Executor, encode_data, decode_data

class E(Executor):
    def launchTask(self, driver, task):
        self.task_id = task["task_id"]
        assert decode_data(task["data"]) == b"payload"
        driver.sendStatusUpdate({"task_id": self.task_id, "state": "TASK_RUNNING"})
        driver.sendFrameworkMessage(encode_data(b"hello"))
    def frameworkMessage(self, driver, message):
        if decode_data(message) == b"ping":
            driver.sendFrameworkMessage(encode_data(b"pong"))
            driver.sendStatusUpdate({"task_id": self.task_id, "state": "TASK_FINISHED"})
    def shutdown(self, driver):
        driver.stop()

MesosExecutorDriver(E(), use_addict=False).run()
