// The "orders" test app: a JVM service that opens its PostgreSQL connection at start with the
// real PostgreSQL JDBC driver (Debian's libpostgresql-jdbc-java) and exits when it cannot.
import java.sql.Connection;
import java.sql.DriverManager;

public class Orders {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5432/orders");
        System.out.println("orders: connecting to " + url);
        try (Connection c = DriverManager.getConnection(url, "orders", System.getenv("PGPASSWORD"))) {
            System.out.println("orders: connected to " + c.getMetaData().getDatabaseProductVersion());
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
