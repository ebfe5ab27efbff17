"""Where the services app plugs in, so that this app never imports it.

The services app registers, in its AppConfig.ready(), a function returning the services deployed
on a group (model objects with `name`, `status`, `region`, `created`, `updated`)::

    hooks.register_service_source(lambda group: Service.objects.filter(...))

Until one is registered a group has no services.
"""
_service_source = None


def register_service_source(source) -> None:
    global _service_source
    _service_source = source


def services_of(group) -> list:
    return list(_service_source(group)) if _service_source is not None else []
