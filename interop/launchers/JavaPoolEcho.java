// An echo server in Java with a fixed thread pool, as the ExecutorService documentation's
// network service example does: a ServerSocket whose accept loop hands each Socket to
// Executors.newFixedThreadPool(8); a worker copies the socket's input to its output until
// EOF.  At most 8 clients are served at once; the next waits in the pool's queue.
// Usage: java -cp build/java JavaPoolEcho HOST PORT
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class JavaPoolEcho {
    static void echo(Socket client) {
        try (Socket s = client; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) != -1) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // the client reset or left: nothing more to do for it
        }
    }

    public static void main(String[] args) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        ServerSocket server = new ServerSocket(Integer.parseInt(args[1]), 50, InetAddress.getByName(args[0]));
        while (true) {
            Socket client = server.accept();
            pool.execute(() -> echo(client));
        }
    }
}
