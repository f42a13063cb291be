"""Bedrock runtime over HTTPS: the same four operations and exact counts as
test_bedrock.py, with fake_providers.py serving TLS under a self-signed
certificate made now (openssl CLI) that boto3 verifies through its CA
bundle parameter (verify=). boto3 (urllib3 over Python's ssl, so OpenSSL)
is under the shim: its records can only come from the TLS hooks reading
plaintext, since the socket carries ciphertext."""
import providers
import test_bedrock
import tokenring_test as tt


class BedrockTLS(test_bedrock.BedrockChecks, providers.ProviderCase):
    tls = True

    def test_four_operations_through_boto3_over_tls(self):
        self.assertTrue(self.server.url.startswith("https://"), self.server.url)
        self.check_four_operations("bedrock-tls-client")
        m = self.metrics()
        self.assertEqual(m.sum("tokenring_opaque_connections_total",
                               source_workload="bedrock-tls-client"), 0)

    def test_mistral_usage_from_headers_over_tls(self):
        self.check_mistral_usage_from_headers("bedrock-tls-mistral")


if __name__ == "__main__":
    tt.main()
