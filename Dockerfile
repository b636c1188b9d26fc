# The gateway image used by compose.yaml (python-ldap needs the LDAP headers to build).
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libldap2-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY iamgw ./iamgw
COPY policies ./policies
RUN pip install --no-cache-dir '.[ldap]'
USER 65532:65532
EXPOSE 9000
ENTRYPOINT ["iamgw"]
CMD ["serve", "--config", "/etc/iamgw/iamgw.toml"]
