"""Which container instance's log tells why it failed (shared by the live operator and
``crashwatch diagnose`` against a cluster)."""

import kube as k

from crashwatch.logsource import failed_instance


def test_a_container_left_terminated_is_read_from_its_own_instance():
    # a 1.36 kubelet leaves a crash loop in terminated between restarts: the instance that
    # died is the current one (previous=true would be the one before it, or an error)
    c = k.container()
    term = k.terminated("Error", 1)
    cs = {**k.waiting_status(c, "x", restarts=2), "state": {"terminated": term}}
    assert failed_instance(cs) == (term["containerID"], False)


def test_a_container_waiting_in_back_off_is_read_from_the_previous_instance():
    c = k.container()
    p = k.pod(containers=[c])
    term = k.terminated("Error", 1)
    assert failed_instance(k.crashloop_status(c, p, term, restarts=3)) == (
        term["containerID"], True)


def test_a_container_running_again_after_a_crash_is_read_from_the_previous_instance():
    c = k.container()
    last = k.terminated("OOMKilled", 137)
    assert failed_instance(k.running_status(c, started_ago=5, restarts=1, last=last)) == (
        last["containerID"], True)


def test_nothing_ran_or_nothing_failed_means_no_log_to_read():
    c = k.container()
    assert failed_instance(k.waiting_status(c, "CreateContainerConfigError",
                                            "configmap \"x\" not found")) is None
    assert failed_instance(k.running_status(c)) is None
    done = {**k.running_status(c), "state": {"terminated": k.terminated("Completed", 0)}}
    assert failed_instance(done) is None


def test_an_instance_without_a_container_id_is_still_told_apart():
    term = k.terminated("Error", 1)
    del term["containerID"]
    cs = {"name": "app", "state": {"terminated": term}, "restartCount": 4}
    assert failed_instance(cs) == ("current/4", False)
