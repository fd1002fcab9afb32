"""Expert cluster labels: the labels file, re-attachment to a fit, segment export,
agreement between annotators and the Label Studio exchange."""
