// A preloaded library that makes the processor look like an AVX2-only one (no AVX-512, no AVX-VNNI, no
// AMX) to every program it is loaded into, so that convscope and onnxruntime can be measured on the code
// paths an AVX2 laptop runs, on a machine that has AVX-512. Used by `tools/bench_peers.py --no-avx512`.
//
//     gcc -O2 -shared -fPIC -o target/bench-peers/no_avx512.so tools/no_avx512.c
//     LD_PRELOAD=target/bench-peers/no_avx512.so target/release/convscope bench mobilenet_v2
//
// How: Linux's ARCH_SET_CPUID (CPUID faulting, the `cpuid_fault` flag in /proc/cpuinfo) makes every CPUID
// instruction of the process raise SIGSEGV; the handler executes the real CPUID with faulting briefly
// lifted, clears the feature bits below, writes the result into the faulting thread's registers and
// steps over the instruction. The setting is inherited by threads and children and reset by execve, when
// the preloaded constructor sets it again. Libraries read CPUID once and cache it, so the cost is nil
// after start-up. What it cannot hide: the dynamic loader's own CPUID reads before any constructor runs
// (glibc keeps its AVX-512 string functions) and XGETBV (programs also test CPUID, which hides them).
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static void set_cpuid_faulting(int on) { syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void mask(unsigned leaf, unsigned subleaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    if (leaf == 7 && subleaf == 0) {
        // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
        // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, FP16 23, AMX-TILE 24, AMX-INT8 25.
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 7 && subleaf == 1) {
        // EAX: AVX-VNNI 4, AVX512_BF16 5.
        *a &= ~((1u << 4) | (1u << 5));
    }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *regs = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
    if (ip[0] != 0x0f || ip[1] != 0xa2) {
        // A real fault: let it kill the process as it would have.
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    unsigned leaf = (unsigned)regs[REG_RAX], subleaf = (unsigned)regs[REG_RCX];
    unsigned a, b, c, d;
    set_cpuid_faulting(0);
    __cpuid_count(leaf, subleaf, a, b, c, d);
    set_cpuid_faulting(1);
    mask(leaf, subleaf, &a, &b, &c, &d);
    regs[REG_RAX] = a;
    regs[REG_RBX] = b;
    regs[REG_RCX] = c;
    regs[REG_RDX] = d;
    regs[REG_RIP] += 2;
    (void)sig;
    (void)info;
}

__attribute__((constructor)) static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "no_avx512: this processor or kernel has no CPUID faulting; features are not masked\n");
        exit(70);
    }
}
