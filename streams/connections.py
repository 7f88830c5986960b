"""The one place that builds connection options: Kafka security (SSL, SASL PLAIN/SCRAM) for
aiokafka and faust, and the Redis client (single node or Cluster, password/ACL user, TLS).

Secrets come from settings only and never appear in logs, metrics or error messages.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import faust
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from streams.errors import ConfigError
from streams.settings import Settings, mask_url


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers, "security_protocol": settings.kafka_security_protocol}
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=_password(settings),
        )
    return options


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | ssl.SSLContext | None:
    context = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(username=settings.kafka_sasl_username, password=_password(settings), ssl_context=context, mechanism=settings.kafka_sasl_mechanism)
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _password(settings: Settings) -> str | None:
    return settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None


def make_redis(settings: Settings, **options: Any) -> Redis:
    """A Redis client for the settings: RedisCluster when AMLSTREAM_REDIS_CLUSTER is set."""
    if settings.redis_ca_file:
        options.setdefault("ssl_ca_certs", settings.redis_ca_file)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)  # type: ignore[return-value]
    return Redis.from_url(settings.redis_url, **options)


@contextlib.asynccontextmanager
async def checked_redis(settings: Settings) -> AsyncIterator[Redis]:
    """A short-lived client for start-up checks: ConfigError, one line naming the (masked) URL,
    if Redis does not answer or a Redis error ends the checks in the body; closed after."""
    redis = make_redis(settings, socket_connect_timeout=5, socket_timeout=5)
    try:
        await redis.ping()
        yield redis
    except (RedisError, OSError) as exc:
        raise ConfigError(f"Redis at {mask_url(settings.redis_url)} is unreachable: {exc}") from None
    finally:
        await redis.aclose()
