"""The course's website: ``make site`` (``website.build``) renders the executed lessons with
Sphinx, and ``make figures`` (``website.export``) exports the two 2-D decoders that the page's
latent explorer (``_static/explorer.js``) runs in the reader's browser."""
