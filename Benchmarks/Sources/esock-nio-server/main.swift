// esock-nio-server: the SwiftNIO baseline of the benchmark (Benchmarks/CONTRACT.md). What a
// performance-minded NIO user writes today: one event loop thread (the benchmark compares
// single-threaded servers pinned to one CPU), TCP_NODELAY, echo flushed per read burst.
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var mode = "echo"
    var port = 0
    var file: String?
    var size = 65536

    init(_ args: [String]) {
        var rest = args[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { Self.usage("\(flag) needs a value") }
            switch flag {
            case "--mode": mode = value
            case "--port": port = Int(value) ?? -1
            case "--file": file = value
            case "--size": size = Int(value) ?? 0
            default: Self.usage("unknown flag \(flag)")
            }
        }
        guard ["echo", "sink", "source", "accept", "sendfile"].contains(mode) else { Self.usage("unknown mode \(mode)") }
        guard (0...65535).contains(port), size > 0 else { Self.usage("bad --port or --size") }
        if mode == "sendfile" && file == nil { Self.usage("--file is required in sendfile mode") }
    }

    static func usage(_ message: String) -> Never {
        printError("esock-nio-server: \(message)")
        exit(2)
    }
}

/// Writes a line to stderr (write(2): the C global `stderr` is refused by Swift 6's checking).
func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Writes back every buffer read; flushes once per read burst.
final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Reads and drops everything.
final class SinkHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// Writes `chunk` while the channel is writable, until the peer goes.
final class SourceHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let chunk: ByteBuffer
    init(chunk: ByteBuffer) { self.chunk = chunk }

    func channelActive(context: ChannelHandlerContext) { pump(context) }
    func channelWritabilityChanged(context: ChannelHandlerContext) { pump(context) }

    private func pump(_ context: ChannelHandlerContext) {
        while context.channel.isActive && context.channel.isWritable {
            context.writeAndFlush(wrapOutboundOut(chunk), promise: nil)
        }
    }
}

/// Closes every connection at once.
final class AcceptHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelActive(context: ChannelHandlerContext) { context.close(promise: nil) }
}

/// Sends the whole file as a FileRegion (sendfile(2) underneath), then closes.
final class SendfileHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData
    let path: String
    init(path: String) { self.path = path }

    func channelActive(context: ChannelHandlerContext) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0 else {
            context.close(promise: nil)
            return
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        let region = FileRegion(fileHandle: handle, readerIndex: 0, endIndex: Int(st.st_size))
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.fileRegion(region))).whenComplete { _ in
            try? handle.close()
            channel.close(promise: nil)
        }
    }
}

var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
signal(SIGTERM) { _ in _exit(0) }
signal(SIGINT) { _ in _exit(0) }
signal(SIGPIPE, SIG_IGN)

let options = Options(Array(CommandLine.arguments.dropFirst()))
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let chunkBytes = [UInt8](repeating: 0x5a, count: options.size)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            switch options.mode {
            case "echo": try sync.addHandler(EchoHandler())
            case "sink": try sync.addHandler(SinkHandler())
            case "source": try sync.addHandler(SourceHandler(chunk: channel.allocator.buffer(bytes: chunkBytes)))
            case "accept": try sync.addHandler(AcceptHandler())
            default: try sync.addHandler(SendfileHandler(path: options.file ?? ""))
            }
        }
    }

do {
    let server = try bootstrap.bind(host: "127.0.0.1", port: options.port).wait()
    print("READY \(server.localAddress?.port ?? 0)")
    fflush(nil)
    try server.closeFuture.wait()
} catch {
    printError("esock-nio-server: \(error)")
    exit(1)
}
