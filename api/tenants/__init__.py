"""The tenants area: router.py (HTTP), schemas.py (request/response models), service.py (registration),
deps.py (the payment provider a registration creates the customer with).
"""

__all__: list[str] = []
