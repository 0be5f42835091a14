"""moto server as the local cloud's second data plane (DynamoDB, SQS, Step Functions).

Usage: python3 moto_server.py PORT

Works around getmoto/moto#10077 (fixed in moto 5.2.3; this machine has 5.2.1): every
StartExecution after the first on a state machine fails with "cannot pickle '_thread.RLock'",
because start_execution deep-copies the state machine together with its running executions.
The shim below gives that deepcopy an empty executions list, which is what the fix does, and
lets it share thread locks it still meets (through other references to running executions)
instead of failing: the clone is only a snapshot of the definition for the new execution.
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
        return copy.deepcopy(obj, memo)


parser_models.copy = _DeepcopyWithoutExecutions()
for _lock_type in (type(_thread.allocate_lock()), type(_thread.RLock())):
    copy._deepcopy_dispatch[_lock_type] = lambda lock, memo: lock

if __name__ == "__main__":
    from moto.server import main

    port = sys.argv[1] if len(sys.argv) > 1 else "5000"
    main(["--host", "127.0.0.1", "--port", port])
