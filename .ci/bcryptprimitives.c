/*
 * bcryptprimitives.dll for wine versions that lack it (Debian 12's wine 8).
 *
 * Rust's standard library on Windows draws its random numbers (HashMap seeds) from
 * ProcessPrng in bcryptprimitives.dll; where the DLL is missing every Rust program exits
 * with code 53 before main. This stub exports ProcessPrng through RtlGenRandom
 * (advapi32's SystemFunction036), which wine has. `.ci/windows` builds it with mingw and
 * puts it in the wine prefix's system32; it is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
