// src/threading/Descriptor.cs: a connection's socket read and written as the number the kernel knows it by, as the
// loops model does: recv(2) and send(2) straight from and into the conversation's buffers, and O_NONBLOCK set with
// fcntl(2). .NET's Socket does the same calls, but a non-blocking Socket keeps an asynchronous context for its
// socket engine, a few hundred bytes a connection that an event loop of its own never uses. A send that has to
// wait for a slow client still goes through .NET's Socket (the conversation's SendSomeAsync), which then makes
// that context for that one connection. Linux on x64, as the loops' epoll is.

using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace KV;

/// <summary>A connected socket's descriptor, non-blocking, read and written directly.</summary>
internal readonly struct Descriptor
{
    private const int GetFlags = 3, SetFlags = 4, NonBlocking = 0x800, NoSignal = 0x4000;
    // Linux's errno values, those a connection's recv and send meet.
    private const int Interrupted = 4, TryAgain = 11, BrokenPipe = 32, Aborted = 103, Reset = 104, NotConnected = 107,
        TimedOut = 110;

    private readonly int number;

    /// <summary>The socket's descriptor, made non-blocking (a socket just accepted, nobody reading it yet).</summary>
    public Descriptor(Socket socket)
    {
        number = (int)socket.Handle;
        var flags = fcntl(number, GetFlags, 0);
        if (flags < 0 || fcntl(number, SetFlags, flags | NonBlocking) < 0)
            throw new SocketException(Marshal.GetLastPInvokeError());
    }

    public int Receive(Span<byte> into, out SocketError error)
    {
        nint received;
        do received = recv(number, ref MemoryMarshal.GetReference(into), (nuint)into.Length, 0);
        while (received < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        return Result(received, out error);
    }

    /// <summary>MSG_NOSIGNAL: a client gone is an error for this connection, never a signal for the process.</summary>
    public int Send(ReadOnlySpan<byte> bytes, out SocketError error)
    {
        nint sent;
        do sent = send(number, ref MemoryMarshal.GetReference(bytes), (nuint)bytes.Length, NoSignal);
        while (sent < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        return Result(sent, out error);
    }

    /// <summary>
    /// The count, or 0 and the error as .NET's Socket names it (its message the system's); an error a connection's
    /// recv or send does not meet here is SocketError.SocketError ("Unknown socket error" in the log).
    /// </summary>
    private static int Result(nint count, out SocketError error)
    {
        if (count >= 0)
        {
            error = SocketError.Success;
            return (int)count;
        }
        error = Marshal.GetLastPInvokeError() switch
        {
            TryAgain => SocketError.WouldBlock,
            BrokenPipe => SocketError.Shutdown,
            Aborted => SocketError.ConnectionAborted,
            Reset => SocketError.ConnectionReset,
            NotConnected => SocketError.NotConnected,
            TimedOut => SocketError.TimedOut,
            _ => SocketError.SocketError,
        };
        return 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int descriptor, int command, int argument);

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(int descriptor, ref byte buffer, nuint length, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint send(int descriptor, ref byte buffer, nuint length, int flags);
}
