// TcJavaHttps.java PORT N - N chat calls with Java's own TLS (JSSE) and
// java.net.http.HttpClient, HTTP/1.1, to https://localhost:PORT (SNI
// "localhost"), trusting any certificate (a test server's self-signed one);
// prints each response body on a line. Run as: java TcJavaHttps.java ...
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

public class TcJavaHttps {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]);
        TrustManager[] any = {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }};
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, any, null);
        HttpClient client = HttpClient.newBuilder().sslContext(ssl)
                .version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < n; i++) {
            String body = "{\"model\":\"java-model\",\"messages\":[{\"role\":\"user\",\"content\":\"q" + i + "\"}]}";
            HttpRequest req = HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            System.out.println(client.send(req, HttpResponse.BodyHandlers.ofString()).body());
        }
    }
}
