// An echo server in Java as the Java tutorial's KnockKnock/EchoServer pattern goes, made
// concurrent the way its "Supporting Multiple Clients" section says: a ServerSocket, and a
// new Thread per accepted Socket that copies its InputStream to its OutputStream until EOF.
// Usage: java -cp build/java JavaThreadEcho HOST PORT
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

public class JavaThreadEcho {
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
        ServerSocket server = new ServerSocket(Integer.parseInt(args[1]), 50, InetAddress.getByName(args[0]));
        while (true) {
            Socket client = server.accept();
            new Thread(() -> echo(client)).start();
        }
    }
}
