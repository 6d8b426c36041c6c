"""Applications (integrations): the declarative catalog, connections, credential crypto."""
