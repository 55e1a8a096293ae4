// The "identity" test app: a Keycloak-like JVM server. At start, as Keycloak's `kc.sh start`
// does when its build options changed (its auto-build), it writes its build-time configuration
// into its own installation directory (lib/quarkus/build-system.properties), then serves HTTP
// on 8080 (/health/ready, /health/live). Under readOnlyRootFilesystem that write fails in the
// kernel (EROFS) and the JVM reports it in its own words, as Keycloak does on such a pod:
// `java.nio.file.FileSystemException: <path>: Read-only file system`
// (e.g. https://github.com/chainguard-images/images/pull/2542, Keycloak's generated-bytecode.jar).
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

public class Identity {
    public static void main(String[] args) throws Exception {
        Path home = Path.of(System.getenv().getOrDefault("IDENTITY_HOME", "/opt/identity"));
        Path build = home.resolve("lib/quarkus/build-system.properties");
        System.out.println("identity: updating the server's build configuration in " + build);
        Files.writeString(build, "# written at start, " + Instant.now() + "\n"
                + "kc.db=" + System.getenv().getOrDefault("KC_DB", "dev-file") + "\n"
                + "kc.health-enabled=true\n");
        HttpServer server = HttpServer.create(new InetSocketAddress(8080), 0);
        for (String route : new String[] {"/health/ready", "/health/live"}) {
            server.createContext(route, exchange -> {
                byte[] body = "{\"status\": \"UP\"}\n".getBytes();
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
        }
        server.start();
        System.out.println("identity: listening on :8080");
    }
}
