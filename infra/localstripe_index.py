"""Patches applied to localstripe in the process that serves it (see `infra/localstripe.py`).

localstripe keeps every object in one dict, `store`, keyed "<type>:<id>", and finds
objects of a type by scanning ALL of it (`StripeObject._api_list_all`:
`[v for k, v in store.items() if k.startswith(type + ':')]`), then filtering by
customer. It does so inside calls that are not list calls: paying an invoice exports
its charge in each event, and every export of a charge lists the store's refunds three
times (`refunds`, `amount_refunded`, `refunded`); creating an invoice lists the
customer's pending invoice items; every export of a customer lists its subscriptions.
A call therefore cost time in proportion to everything stored, line items and events
included: with 1,000 tenants invoiced, ~84% of localstripe's time went to these scans
(py-spy, bench/README.md "Billing"), and each further month made every call slower.

Nothing here changes what localstripe answers, only how it finds objects:

- `store` also keeps, per object type, the objects of that type in store order, so
  the scan becomes a walk over that type's objects alone;
- for the list calls that filter on one attribute (invoice items, invoices,
  subscriptions and charges by `customer`, customers by `email`) it keeps, per value,
  the keys of the objects that hold it. The class's own list code still runs and still
  applies its own filter (and sorting, paging, 404s) to what the index hands it, so a
  stale index could only hide objects, never show wrong ones, and it cannot go stale:
  it is updated when an object enters or leaves the store and whenever the attribute
  is assigned (`__setattr__` on those classes), and returns objects in store order.

The pickle-per-write is disabled here as well: localstripe pickles its WHOLE store to
/tmp/localstripe.pickle on every write, even with --from-scratch (which only skips
loading it), so each write cost time in proportion to everything stored (100 tenants
took 165 s, 88 ms a call), and every checkout's localstripe on the machine rewrote the
same file. We never load it, so we never write it.

`tests/integration/test_localstripe_index.py` checks the index against localstripe's
own scans; every localstripe-backed test runs against the patched server.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
from typing import Any

__all__ = ["install"]

# Object type -> the attribute its list call filters on.
INDEXED_ATTRIBUTES = {
    "invoiceitem": "customer",
    "invoice": "customer",
    "subscription": "customer",
    "charge": "customer",
    "customer": "email",
}

# Set by a class's list call while it runs: (object type, attribute value) that the
# base scan may restrict itself to, because the class filters on exactly that value next.
_narrowed_to: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar(
    "localstripe_narrowed_to", default=None
)


def _object_type(key: str) -> str | None:
    object_type, separator, _ = key.partition(":")
    return object_type if separator else None


class _Index:
    """Per type: key -> object in store order; per (type, value): keys holding that value."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.by_type: dict[str, dict[str, Any]] = {}
        self.by_value: dict[tuple[str, Any], dict[str, None]] = {}
        self.indexed_value: dict[str, Any] = {}  # key -> value it is filed under
        self.position: dict[str, int] = {}  # key -> when it entered the store
        self._counter = itertools.count()

    def added(self, key: str, obj: Any, is_new: bool) -> None:
        object_type = _object_type(key)
        if object_type is None:
            return
        if is_new:
            self.position[key] = next(self._counter)
        self.by_type.setdefault(object_type, {})[key] = obj
        attribute = INDEXED_ATTRIBUTES.get(object_type)
        if attribute is not None:
            self.refile(key, getattr(obj, attribute, None) if hasattr(obj, attribute) else _ABSENT)

    def removed(self, key: str) -> None:
        object_type = _object_type(key)
        if object_type is None:
            return
        self.by_type.get(object_type, {}).pop(key, None)
        self.position.pop(key, None)
        self._unfile(key)

    def refile(self, key: str, value: Any) -> None:
        self._unfile(key)
        if value is _ABSENT or not _hashable(value):
            return
        self.indexed_value[key] = value
        self.by_value.setdefault((_object_type(key), value), {})[key] = None

    def _unfile(self, key: str) -> None:
        if key in self.indexed_value:
            value = self.indexed_value.pop(key)
            bucket = self.by_value.get((_object_type(key), value))
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self.by_value[(_object_type(key), value)]

    def objects_of(self, object_type: str, store: dict) -> list:
        narrowed = _narrowed_to.get()
        if narrowed is not None and narrowed[0] == object_type:
            keys = sorted(self.by_value.get(narrowed, {}), key=self.position.__getitem__)
            return [store[key] for key in keys]
        return list(self.by_type.get(object_type, {}).values())


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _index_store(resources) -> None:
    """Keep `resources.store` (the dict instance every module already holds) indexed."""
    store_class = resources.Store
    index = _Index()
    base_setitem, base_delitem, base_clear = dict.__setitem__, dict.__delitem__, dict.clear

    def setitem(self, key, value):
        is_new = key not in self
        base_setitem(self, key, value)
        if self is resources.store:
            index.added(key, value, is_new)

    def delitem(self, key):
        base_delitem(self, key)
        if self is resources.store:
            index.removed(key)

    def clear(self):
        base_clear(self)
        if self is resources.store:
            index.clear()

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def unsupported(name):
        def refuse(self, *args, **kwargs):
            raise NotImplementedError(f"Store.{name} would bypass the index (infra/localstripe_index.py)")
        return refuse

    store_class.__setitem__ = setitem
    store_class.__delitem__ = delitem
    store_class.clear = clear
    store_class.update = update
    for name in ("pop", "popitem", "setdefault", "__ior__"):
        setattr(store_class, name, unsupported(name))
    store_class.dump_to_disk = lambda self: None
    for key, value in list(resources.store.items()):
        index.added(key, value, True)

    def list_all(cls, url, limit=None, starting_after=None, **kwargs):
        # localstripe's own base list, reading the index instead of scanning the store.
        if kwargs:
            raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = resources.List(url, limit=limit, starting_after=starting_after)
        li._list = index.objects_of(cls.object, resources.store)
        return li

    resources.StripeObject._api_list_all = classmethod(list_all)
    _narrow_filtered_lists(resources, index)


def _narrow_filtered_lists(resources, index: _Index) -> None:
    classes = {cls.object: cls for cls in _subclasses(resources.StripeObject)
               if getattr(cls, "object", None) in INDEXED_ATTRIBUTES}
    for object_type, attribute in INDEXED_ATTRIBUTES.items():
        cls = classes[object_type]
        own_list = cls.__dict__["_api_list_all"].__func__

        @functools.wraps(own_list)
        def narrowed_list(cls, url, *args, _own_list=own_list, _type=object_type, _attribute=attribute, **kwargs):
            value = kwargs.get(_attribute)
            # Only a string value: that is when the class's own code filters on equality
            # with it (or refuses the call before listing).
            if not isinstance(value, str):
                return _own_list(cls, url, *args, **kwargs)
            token = _narrowed_to.set((_type, value))
            try:
                return _own_list(cls, url, *args, **kwargs)
            finally:
                _narrowed_to.reset(token)

        cls._api_list_all = classmethod(narrowed_list)
        cls.__setattr__ = _refiling_setattr(resources, index, object_type, attribute)


def _refiling_setattr(resources, index: _Index, object_type: str, attribute: str):
    def setattr_(self, name, value):
        object.__setattr__(self, name, value)
        if name == attribute:
            key = f"{object_type}:{getattr(self, 'id', '')}"
            if resources.store.get(key) is self:
                index.refile(key, value)
    return setattr_


def _subclasses(cls):
    for child in cls.__subclasses__():
        yield child
        yield from _subclasses(child)


def install() -> None:
    """Patch localstripe in this process; call before `localstripe.server` serves."""
    import localstripe.resources as resources

    _index_store(resources)
