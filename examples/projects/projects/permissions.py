"""The app's own permissions and roles, declared in code.

``sessionary db upgrade`` writes them into the catalogue and grants them all to ``admin``;
a route guarded by a permission missing here fails the app's startup.
"""

from sessionary import PermissionSet, declare_role


class ProjectPermission(PermissionSet):
    READ = "projects:read", "See own projects"
    WRITE = "projects:write", "Create and delete own projects"
    READ_ALL = "projects:read_all", "See everyone's projects"
    DELETE_ALL = "projects:delete_all", "Delete everyone's projects"


CONTRIBUTOR = declare_role("contributor", {ProjectPermission.READ, ProjectPermission.WRITE})
PROJECT_MANAGER = declare_role("project_manager", set(ProjectPermission))
