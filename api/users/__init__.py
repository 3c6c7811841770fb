"""The users area: a tenant's people. router.py (HTTP), schemas.py, rules.py (who may do what to
whom, pure), service.py (members: list, role, removal, ownership), invitations.py (invite, accept).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
