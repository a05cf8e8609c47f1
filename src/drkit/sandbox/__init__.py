"""The local DR lab: real etcd clusters, mirror, rsync target and HAProxy endpoint on this machine."""
