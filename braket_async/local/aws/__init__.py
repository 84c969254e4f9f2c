"""The AWS neighbours of Braket that the local service embeds or emulates: moto (S3,
CloudWatch Logs, STS, IAM) and its object store, EventBridge events, ECR for the job
images, and the price-list offers file.
"""
