// The server's CPU time and memory from /proc (proc(5)): utime + stime from /proc/PID/stat,
// VmRSS from /proc/PID/status. Without --server-pid the process is found as the owner of the
// socket listening on the server's HTTP port (/proc/net/tcp → inode → /proc/*/fd).

import Glibc

public struct ProcessSample: Equatable, Sendable {
    /// utime + stime, in seconds.
    public var cpuSeconds: Double
    public var residentBytes: UInt64
    /// When it was read (ns of `MonotonicTime`).
    public var time: UInt64

    /// CPU used between two samples, in percent of one core.
    public static func cpuPercent(from start: ProcessSample, to end: ProcessSample) -> Double {
        guard end.time > start.time else { return 0 }
        return (end.cpuSeconds - start.cpuSeconds) / MonotonicTime.seconds(end.time - start.time) * 100
    }
}

public enum ServerProcessStats {
    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    public static func sample(pid: Int32) -> ProcessSample? {
        guard let stat = readText("/proc/\(pid)/stat"), let ticks = cpuTicks(stat: stat) else { return nil }
        let rss = readText("/proc/\(pid)/status").flatMap(residentKilobytes(status:)) ?? 0
        return ProcessSample(cpuSeconds: Double(ticks) / clockTicksPerSecond, residentBytes: rss * 1024, time: MonotonicTime.now())
    }

    public static func sampleSelf() -> ProcessSample? { sample(pid: getpid()) }

    /// utime + stime (fields 14 and 15) in clock ticks. The command name (field 2) is in
    /// parentheses and may hold spaces or parentheses itself, so fields count from the last ')'.
    public static func cpuTicks(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field n is fields[n - 3].
        guard fields.count > 12, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else { return nil }
        return utime + stime
    }

    /// `VmRSS:   12345 kB`.
    public static func residentKilobytes(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        }
        return nil
    }

    /// Inodes of sockets listening (state 0A) on `port` in /proc/net/tcp or tcp6 text.
    public static func listeningInodes(procNetTCP text: String, port: UInt16) -> [UInt64] {
        var inodes: [UInt64] = []
        for line in text.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A" else { continue }
            guard let portHex = fields[1].split(separator: ":").last, UInt16(portHex, radix: 16) == port,
                  let inode = UInt64(fields[9]), inode != 0
            else { continue }
            inodes.append(inode)
        }
        return inodes
    }

    /// The process holding a socket that listens on TCP `port`; nil when none is visible.
    public static func findListeningProcess(port: UInt16) -> Int32? {
        let inodes = Set(["/proc/net/tcp", "/proc/net/tcp6"].compactMap(readText).flatMap { listeningInodes(procNetTCP: $0, port: port) })
        guard !inodes.isEmpty, let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        let wanted = Set(inodes.map { "socket:[\($0)]" })
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid != getpid() else { continue }
            guard let fds = opendir("/proc/\(pid)/fd") else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let fdName = withUnsafeBytes(of: fd.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard fdName != ".", fdName != ".." else { continue }
                var target = [CChar](repeating: 0, count: 64)
                let n = readlink("/proc/\(pid)/fd/\(fdName)", &target, target.count - 1)
                guard n > 0 else { continue }
                let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if wanted.contains(link) { return pid }
            }
        }
        return nil
    }

    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
            if bytes.count > 16 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
