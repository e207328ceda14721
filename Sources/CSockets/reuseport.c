// See CSockets.h: the eBPF steering of a SO_REUSEPORT group. The program is assembled here as
// raw instructions (no clang BPF target or libbpf needed on the machine) and loaded with bpf(2).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CSockets.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

/// The hash map's key: the source address (IPv4 in the first 4 bytes), the source port and
/// the Ethernet protocol number as they appear on the wire. Built alike by the program (from
/// the packet) and by chorus_reuseport_steer (from a sockaddr).
struct steering_key {
    uint8_t address[16];
    uint16_t port;       // network byte order
    uint16_t protocol;   // ETH_P_IP or ETH_P_IPV6, network byte order
    uint32_t padding;
};
_Static_assert(sizeof(struct steering_key) == 24, "key layout shared with the program");

static long bpf_call(int command, union bpf_attr *attributes) {
    return syscall(SYS_bpf, command, attributes, sizeof(*attributes));
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LOAD(size, d, s, o) INSN(BPF_LDX | BPF_MEM | (size), d, s, o, 0)
#define STORE(size, d, s, o) INSN(BPF_STX | BPF_MEM | (size), d, s, o, 0)
#define JUMP_IF_REG(op, d, s, o) INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define JUMP_IF(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JUMP(o) INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LOAD_MAP(d, fd) INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

// The Ethernet protocol numbers as sk_reuseport_md.eth_protocol holds them: network byte
// order in the low 16 bits of a little-endian word (Linux on x86-64 and arm64).
#define ETH_P_IP_WIRE 0x0008
#define ETH_P_IPV6_WIRE 0xDD86

static int load_program(int peers, int sockets, char *log, unsigned int log_size) {
    // r6 = context, r7 = protocol; the key is built at fp-24, the chosen index copied to fp-28.
    // Jump offsets count instructions after the jump (LOAD_MAP is two); the comments number them.
    struct bpf_insn program[] = {
        MOV64_REG(6, 1),                                                  //  0
        MOV64_IMM(0, 0),                                                  //  1
        STORE(BPF_DW, 10, 0, -24), STORE(BPF_DW, 10, 0, -16), STORE(BPF_DW, 10, 0, -8), //  2-4
        // The UDP header starts at `data`: its first two bytes are the source port.
        LOAD(BPF_DW, 2, 6, offsetof(struct sk_reuseport_md, data)),      //  5
        LOAD(BPF_DW, 3, 6, offsetof(struct sk_reuseport_md, data_end)),  //  6
        MOV64_REG(4, 2), ADD64_IMM(4, 8),                                 //  7-8
        JUMP_IF_REG(BPF_JGT, 4, 3, 37),                                   //  9 -> 47 pass
        LOAD(BPF_H, 4, 2, 0), STORE(BPF_H, 10, 4, -8),                    // 10-11
        LOAD(BPF_W, 7, 6, offsetof(struct sk_reuseport_md, eth_protocol)), // 12
        JUMP_IF(BPF_JNE, 7, ETH_P_IP_WIRE, 8),                            // 13 -> 22 IPv6
        // IPv4: the source address is at byte 12 of the IP header.
        MOV64_REG(1, 6), MOV64_IMM(2, 12), MOV64_REG(3, 10), ADD64_IMM(3, -24), // 14-17
        MOV64_IMM(4, 4), MOV64_IMM(5, BPF_HDR_START_NET),                 // 18-19
        CALL(BPF_FUNC_skb_load_bytes_relative),                           // 20
        JUMP(8),                                                          // 21 -> 30
        JUMP_IF(BPF_JNE, 7, ETH_P_IPV6_WIRE, 24),                         // 22 -> 47 pass
        // IPv6: the source address is at byte 8 of the IP header.
        MOV64_REG(1, 6), MOV64_IMM(2, 8), MOV64_REG(3, 10), ADD64_IMM(3, -24), // 23-26
        MOV64_IMM(4, 16), MOV64_IMM(5, BPF_HDR_START_NET),                // 27-28
        CALL(BPF_FUNC_skb_load_bytes_relative),                           // 29
        JUMP_IF(BPF_JNE, 0, 0, 16),                                       // 30 -> 47 pass
        STORE(BPF_H, 10, 7, -6),                                          // 31
        LOAD_MAP(1, peers),                                               // 32-33
        MOV64_REG(2, 10), ADD64_IMM(2, -24),                              // 34-35
        CALL(BPF_FUNC_map_lookup_elem),                                   // 36
        JUMP_IF(BPF_JEQ, 0, 0, 9),                                        // 37 -> 47 pass
        LOAD(BPF_W, 4, 0, 0), STORE(BPF_W, 10, 4, -28),                   // 38-39
        MOV64_REG(1, 6), LOAD_MAP(2, sockets),                            // 40-42
        MOV64_REG(3, 10), ADD64_IMM(3, -28), MOV64_IMM(4, 0),             // 43-45
        CALL(BPF_FUNC_sk_select_reuseport),                               // 46
        // pass: SK_PASS with a socket selected, or without one (the kernel then hashes).
        MOV64_IMM(0, SK_PASS),                                            // 47
        EXIT(),                                                           // 48
    };
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
    attributes.expected_attach_type = BPF_SK_REUSEPORT_SELECT;
    attributes.insns = (uint64_t)(uintptr_t)program;
    attributes.insn_cnt = sizeof program / sizeof program[0];
    attributes.license = (uint64_t)(uintptr_t)"Dual MIT/GPL";
    if (log != NULL && log_size > 0) {
        log[0] = 0;
        attributes.log_buf = (uint64_t)(uintptr_t)log;
        attributes.log_size = log_size;
        attributes.log_level = 1;
    }
    return (int)bpf_call(BPF_PROG_LOAD, &attributes);
}

static int create_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t entries, uint32_t flags) {
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.map_type = type;
    attributes.key_size = key_size;
    attributes.value_size = value_size;
    attributes.max_entries = entries;
    attributes.map_flags = flags;
    return (int)bpf_call(BPF_MAP_CREATE, &attributes);
}

static int update(int map, const void *key, const void *value) {
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.map_fd = (uint32_t)map;
    attributes.key = (uint64_t)(uintptr_t)key;
    attributes.value = (uint64_t)(uintptr_t)value;
    attributes.flags = BPF_ANY;
    return bpf_call(BPF_MAP_UPDATE_ELEM, &attributes) == 0 ? 0 : -errno;
}

void chorus_reuseport_steering_close(chorus_reuseport_steering *steering) {
    if (steering->program >= 0) close(steering->program);
    if (steering->sockets >= 0) close(steering->sockets);
    if (steering->peers >= 0) close(steering->peers);
    steering->program = steering->sockets = steering->peers = -1;
}

int chorus_reuseport_steering_create(chorus_reuseport_steering *steering, const int *socket_fds, int count,
                                     int max_peers, char *log, unsigned int log_size) {
    steering->program = steering->sockets = steering->peers = -1;
    if (count < 1 || max_peers < 1) return -EINVAL;
    int error = 0;
    // No preallocation: entries come and go with transports, a few per second at most.
    steering->peers = create_map(BPF_MAP_TYPE_HASH, sizeof(struct steering_key), sizeof(uint32_t),
                                 (uint32_t)max_peers, BPF_F_NO_PREALLOC);
    if (steering->peers < 0) goto failed;
    steering->sockets = create_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, sizeof(uint32_t), sizeof(uint64_t),
                                   (uint32_t)count, 0);
    if (steering->sockets < 0) goto failed;
    for (int i = 0; i < count; i++) {
        uint32_t index = (uint32_t)i;
        uint64_t fd = (uint64_t)socket_fds[i];
        if ((error = update(steering->sockets, &index, &fd)) != 0) goto cleanup;
    }
    steering->program = load_program(steering->peers, steering->sockets, log, log_size);
    if (steering->program < 0) goto failed;
    // Attached to one socket, the program serves the whole group.
    if (setsockopt(socket_fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &steering->program,
                   sizeof steering->program) != 0) goto failed;
    return 0;
failed:
    error = -errno;
cleanup:
    chorus_reuseport_steering_close(steering);
    return error;
}

static int make_key(const struct sockaddr *peer, struct steering_key *key) {
    memset(key, 0, sizeof *key);
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)peer;
        memcpy(key->address, &v4->sin_addr, 4);
        key->port = v4->sin_port;
        key->protocol = ETH_P_IP_WIRE;
        return 0;
    }
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)peer;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; on the wire they are IPv4.
            memcpy(key->address, &v6->sin6_addr.s6_addr[12], 4);
            key->port = v6->sin6_port;
            key->protocol = ETH_P_IP_WIRE;
            return 0;
        }
        memcpy(key->address, &v6->sin6_addr, 16);
        key->port = v6->sin6_port;
        key->protocol = ETH_P_IPV6_WIRE;
        return 0;
    }
    return -EAFNOSUPPORT;
}

int chorus_reuseport_steer(const chorus_reuseport_steering *steering, const struct sockaddr *peer,
                           unsigned int index) {
    struct steering_key key;
    int error = make_key(peer, &key);
    if (error != 0) return error;
    uint32_t value = index;
    return update(steering->peers, &key, &value);
}

int chorus_reuseport_unsteer(const chorus_reuseport_steering *steering, const struct sockaddr *peer) {
    struct steering_key key;
    int error = make_key(peer, &key);
    if (error != 0) return error;
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.map_fd = (uint32_t)steering->peers;
    attributes.key = (uint64_t)(uintptr_t)&key;
    return bpf_call(BPF_MAP_DELETE_ELEM, &attributes) == 0 ? 0 : -errno;
}
