"""Events of resource groups that the deployment engine reacts to (it connects receivers).

All are sent with `sender=ResourceGroup` and `group=<the group>`.
"""
from django.dispatch import Signal

# The group's machines may no longer run services (expiry, arrears or scaling to zero).
group_stopped = Signal()  # also: reason
# A stopped group runs again (renewed, arrears settled, scaled up from zero).
group_started = Signal()
# Machines left the group (scale-down, temporary machines released); instances on them must move.
machines_removed = Signal()  # also: machines (list of Machine, already detached from the group)
# The group is about to be deleted for good, with its services and their data (15 days after
# expiry or arrears, or on DeleteResource). Receivers delete the group's services.
group_released = Signal()
