def staff_home_context(user):
    """What the staff home page shows: the units where the user holds roles."""
    roles = user.unit_roles.select_related("unit").order_by("unit__path", "kind")
    return {"roles": roles, "is_superuser": user.is_superuser}
