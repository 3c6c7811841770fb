"""Logging in: email and password for an access token."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import DatabaseDep, JwtDep
from . import service
from .schemas import AccessTokenPublic, LoginCreate

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", response_model=AccessTokenPublic)
async def login(body: LoginCreate, jwt: JwtDep, database: DatabaseDep) -> AccessTokenPublic:
    return AccessTokenPublic.of(await service.log_in(database, jwt, body.email, body.password))
