"""A pymesos (PyPI) scheduler driven against our master.

Usage: pymesos_scheduler.py HOST:PORT

Subscribes, launches one command task on the first offer, acknowledges its
updates, reconciles (implicitly) once it runs, and tears down once it has
seen TASK_FINISHED and a reconciliation answer. Prints one JSON array per
step on stdout for the Rust test to check.
"""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim"))

from addict import Dict  # noqa: E402
from pymesos import MesosSchedulerDriver, Scheduler  # noqa: E402

lock = threading.Lock()


def out(*fields):
    with lock:
        print(json.dumps(fields), flush=True)


class TestScheduler(Scheduler):
    def __init__(self):
        self.launched = False
        self.finished = False
        self.reconciled = False
        self.reconcile_asked = False

    def registered(self, driver, framework_id, master_info):
        out("registered", framework_id["value"], master_info.get("version"))

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id)
                continue
            task = Dict()
            task.task_id.value = "pymesos-1"
            task.agent_id.value = offer.agent_id.value
            task.name = "pymesos task"
            task.command.value = "echo hello"
            task.resources = [
                dict(name="cpus", type="SCALAR", scalar={"value": 0.5}),
                dict(name="mem", type="SCALAR", scalar={"value": 64}),
            ]
            driver.launchTasks(offer.id, [task])
            self.launched = True
            out("launched", offer.agent_id.value, offer.id.value)

    def statusUpdate(self, driver, update):
        reason = update.get("reason")
        out("update", update.state, update.task_id.value, reason, bool(update.get("uuid")))
        if update.get("uuid"):
            driver.acknowledgeStatusUpdate(update)
        if reason == "REASON_RECONCILIATION":
            self.reconciled = True
        elif update.state == "TASK_RUNNING" and not self.reconcile_asked:
            self.reconcile_asked = True
            driver.reconcileTasks([])
        elif update.state == "TASK_FINISHED":
            self.finished = True
        if self.finished and self.reconciled:
            out("done")
            driver.stop()

    def error(self, driver, message):
        out("error", message)
        driver.stop()


def main():
    framework = Dict()
    framework.user = "root"
    framework.name = "pymesos-interop"
    framework.hostname = "localhost"
    driver = MesosSchedulerDriver(
        TestScheduler(), framework, sys.argv[1], use_addict=True, implicit_acknowledgements=False
    )
    driver.run()
    out("stopped")


if __name__ == "__main__":
    main()
