# The gateway's image (compose.yaml builds it; deploy/kubernetes/ runs it).
#
# Two stages: python-ldap has no wheel and compiles against the LDAP headers, so the
# compiler and the -dev packages stay in the build stage; the final image gets the
# installed virtual environment and only the shared libraries it loads at run time.
# The Debian release is pinned so that the runtime library names below hold.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libldap2-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/iamgw
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY iamgw ./iamgw
COPY policies ./policies
# A regular (not editable) install: the package lives in the venv, /src is left behind.
# The wheel carries the canned policies in the package's own policies/ folder (setup.py),
# where iamgw/iam/canned.py looks when there is no source checkout beside the package;
# checked here in the installed package (-I and /: not the sources of /src).
RUN /opt/iamgw/bin/pip install --no-cache-dir '.[ldap]' \
 && package="$(cd / && /opt/iamgw/bin/python -I -c 'import iamgw, os; print(os.path.dirname(iamgw.__file__))')" \
 && /opt/iamgw/bin/iamgw policy check "$package"/policies/*.json

FROM ${PYTHON_IMAGE}
# Runtime libraries of python-ldap (libldap pulls libsasl2 in); no compiler, no headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libldap-2.5-0 \
 && rm -rf /var/lib/apt/lists/*
# The user the gateway runs as, and its data directory (master key, root credentials
# when not configured, SQLite store when no [store] url, audit file) owned by it, so a
# fresh named volume mounted there starts out writable by that user.
RUN groupadd --system --gid 65532 iamgw \
 && useradd --system --uid 65532 --gid iamgw --no-create-home \
      --home-dir /var/lib/iamgw --shell /usr/sbin/nologin iamgw \
 && install -d -o iamgw -g iamgw -m 0700 /var/lib/iamgw \
 && install -d -m 0755 /etc/iamgw
COPY --from=build /opt/iamgw /opt/iamgw
ENV PATH=/opt/iamgw/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/iamgw"]
USER 65532:65532
WORKDIR /var/lib/iamgw
EXPOSE 9000
ENTRYPOINT ["iamgw"]
CMD ["serve", "--config", "/etc/iamgw/iamgw.toml"]
