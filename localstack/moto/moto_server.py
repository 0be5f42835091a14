"""moto server as the local cloud's second data plane (DynamoDB, SQS, Step Functions).

Usage: python3 moto_server.py PORT

Works around getmoto/moto#10077 (fixed in moto 5.2.3; this machine has 5.2.1): every
StartExecution after the first on a state machine fails with "cannot pickle '_thread.RLock'",
because start_execution deep-copies the state machine together with its running executions.
The shim below gives that deepcopy an empty executions list, which is what the fix does, shares
the backend the state machine points to (else the copy takes every other state machine's
executions with it), and lets it share thread locks it still meets instead of failing: the
clone is only a snapshot of the definition for the new execution.

MOTO_SLOW_CALL_MS (default 200) prints every call slower than that to the log, with its action.
"""
import _thread
import copy
import sys

import moto.stepfunctions.parser.models as parser_models


class _DeepcopyWithoutExecutions:
    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj, memo=None):
        memo = {} if memo is None else memo
        executions = getattr(obj, "executions", None)
        if isinstance(executions, list):
            memo[id(executions)] = []
        # The state machine holds its backend: copied, it brought every other state machine's
        # executions (their environments and event histories) along, so StartExecution grew with
        # all the history of the run — seconds late in the test suite. Share it instead.
        backend = getattr(obj, "backend", None)
        if backend is not None:
            memo[id(backend)] = backend
        return copy.deepcopy(obj, memo)


parser_models.copy = _DeepcopyWithoutExecutions()
for _lock_type in (type(_thread.allocate_lock()), type(_thread.RLock())):
    copy._deepcopy_dispatch[_lock_type] = lambda lock, memo: lock


def _log_slow_calls(threshold_ms):
    """Print every call slower than threshold_ms (action, table, index, items) to the log."""
    import json
    import time

    from moto.core.responses import BaseResponse

    dispatch = BaseResponse._dispatch

    def timed(self, request, full_url, headers):
        started = time.perf_counter()
        try:
            return dispatch(self, request, full_url, headers)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            if elapsed >= threshold_ms:
                target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or full_url
                detail = ""
                try:
                    body = json.loads(getattr(self, "body", "") or "{}")
                    detail = " ".join(
                        f"{k}={body[k]}" for k in ("TableName", "IndexName", "Limit") if k in body
                    )
                except Exception:
                    pass
                print(f"[slow] {elapsed:.0f} ms {target} {detail}", file=sys.stderr, flush=True)

    BaseResponse._dispatch = timed


if __name__ == "__main__":
    import os

    _log_slow_calls(float(os.environ.get("MOTO_SLOW_CALL_MS", "200")))
    from moto.server import main

    port = sys.argv[1] if len(sys.argv) > 1 else "5000"
    main(["--host", "127.0.0.1", "--port", port])
