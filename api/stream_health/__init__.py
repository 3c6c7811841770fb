"""What the stream did with a tenant's events: dead letters, duplicates, corrections.

router.py (HTTP), schemas.py (response models), service.py (range rule and reads). No
deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""
