"""The adapter's table of SDK method -> (HTTP method, path) must say what stripe-python's
own services send, or a call would go to the wrong endpoint after an SDK upgrade."""

import inspect
import re

import stripe

from billing_jobs.stripe.client import _ROUTES, _route


def _services() -> dict[str, type]:
    client = stripe.StripeClient("sk_test_x")
    found: dict[str, type] = {}
    for service in (client.v1.customers, client.v1.payment_methods, client.v1.invoices,
                    client.v1.invoices.line_items, client.v1.invoice_items, client.v1.subscriptions,
                    client.v1.plans, client.v1.products):
        found[type(service).__name__] = type(service)
    return found


def test_every_route_is_what_the_sdk_method_itself_requests():
    services = _services()
    for (service_name, method_name), (http_method, template) in _ROUTES.items():
        source = inspect.getsource(getattr(services[service_name], method_name))
        # The SDK's own path, with "{customer}"-style placeholders as "{}".
        sdk_paths = {re.sub(r"\{[a-z_]+\}", "{}", path) for path in re.findall(r'"(/v1/[^"]*)"', source)}
        assert sdk_paths == {template}, (service_name, method_name, sdk_paths)
        assert f'"{http_method}"' in source, (service_name, method_name)


def test_ids_are_quoted_into_the_path_and_unknown_methods_fall_back():
    client = stripe.StripeClient("sk_test_x")
    assert _route(client.v1.invoices.pay, ("in_1/x y",)) == ("post", "/v1/invoices/in_1%2Fx+y/pay")
    assert _route(client.v1.customers.create, ()) == ("post", "/v1/customers")
    # Not in the table, or called with other arguments than the path takes: the SDK method is used.
    assert _route(client.v1.invoices.void_invoice, ("in_1",)) is None
    assert _route(client.v1.invoices.pay, ()) is None
