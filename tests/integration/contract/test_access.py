"""The service's check is the one declared (``schema/contract.py``): for every operation, through
Nameko's ``worker_factory`` with real tokens on the real Redis, an anonymous caller, a caller without
the permission and a caller holding exactly it get UNAUTHENTICATED, FORBIDDEN and past the check.
The SDL side of the same declaration is ``tests/unit/contract/test_contract.py``'s."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from schema.contract import Access, Operation
from schema.errors import BadUserInput, Forbidden, Unauthenticated
from schema.permissions import Permission
from tests.support.callers import Callers
from tests.unit.contract.test_contract import NOT_YET, _declared, _service_class


def _denied_and_allowed(op: Operation, callers: Callers):
    """(caller, expected error) pairs that must be refused, and a caller that must get past the check."""
    if op.access is Access.PUBLIC:
        return [], callers.anonymous()
    denied = [(callers.anonymous(), Unauthenticated), (callers.caller("not.a.jwt"), Unauthenticated)]
    if op.access is Access.AUTHENTICATED:
        return denied, callers.user("guest", scopes=[])
    others = [p for p in Permission if p is not op.access]
    denied.append((callers.user("admin", scopes=others), Forbidden))  # every permission but this one
    return denied, callers.user("admin", scopes=[op.access])


def _converted_operations() -> list[Operation]:
    return [op for op in _declared() if op.service not in NOT_YET]


@pytest.fixture(scope="module")
def callers():
    callers = Callers.open()
    yield callers
    callers.close()


@pytest.mark.parametrize("op", _converted_operations(), ids=lambda op: op.qualified_name)
def test_the_service_checks_the_declared_access(op, callers):
    cls = _service_class(op.service)
    method_name = op.name
    denied, allowed = _denied_and_allowed(op, callers)
    for caller, error in denied:
        worker = worker_factory(cls, caller=caller)
        with pytest.raises(error):
            getattr(worker, method_name)()  # refused before the (missing) input is read
    worker = worker_factory(cls, caller=allowed)
    try:
        getattr(worker, method_name)()
    except (Unauthenticated, Forbidden) as exc:
        pytest.fail(f"{op} refused a caller holding {op.access}: {exc!r}")
    except BadUserInput:  # past the check: the (required) input was not given
        pass
