"""The small core: accounts data, organizations, permissions, audiences, mail, storage, jobs.

The core never imports a plugin; plugins reach it through ``intranet.core`` and the registry.
"""
