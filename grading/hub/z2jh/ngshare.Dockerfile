# ngshare's image, from the set the hub test runs it with (requirements/ngshare.txt: ngshare 0.6.0 on SQLAlchemy 1.4;
# requirements/ngshare.in says why not 2). Built from the repository root (not run here: no container builder):
#   docker build -f grading/hub/z2jh/ngshare.Dockerfile -t REGISTRY/trainer-course-ngshare:TAG .
# The ngshare Helm chart runs it with its own arguments (--admins ...) as user 65535 on a read-only root file
# system; the database and the files go to its volume, /srv/ngshare (ngshare's defaults).
FROM python:3.11-slim
COPY requirements/ngshare.txt /tmp/ngshare.txt
RUN pip install --no-cache-dir -r /tmp/ngshare.txt && rm /tmp/ngshare.txt
USER 65535:65535
ENTRYPOINT ["python3", "-m", "ngshare"]
