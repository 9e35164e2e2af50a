#nullable enable
// This one file serves two builds:
//  * ModelZoo.Torch compiles it (MODELZOO_LIBRARY defined) so tests and the CLI can call the patcher;
//  * Directory.Build.targets hands it to RoslynCodeTaskFactory (symbol undefined), which adds the MSBuild task
//    at the bottom, so every build and publish that outputs libLibTorchSharp.so patches it there.
// It may therefore use nothing but netstandard's BCL (and MSBuild's own types in the task part).
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ModelZoo.Torch.Native
{
    /// <summary>Outcome of one patch attempt, for logs and tests.</summary>
    public enum PatchOutcome { Patched, AlreadyPatched, NotNeeded, VersionNotReferenced, NotElf }

    /// <summary>
    /// Makes libLibTorchSharp.so load on systems whose libstdc++ predates GCC 13 (Debian 12).
    /// The library requires symbol version GLIBCXX_3.4.32 only for <c>std::ios_base_library_init</c>, a link-time
    /// marker that GCC 13's &lt;iostream&gt; emits and nothing calls (no relocation refers to it). Marking that one
    /// Vernaux entry weak (VER_FLG_WEAK) lets the dynamic loader accept a libstdc++ that lacks the version.
    /// </summary>
    public static class LibTorchSharpPatch
    {
        public const string MarkerVersion = "GLIBCXX_3.4.32";
        const ushort VerFlagWeak = 0x2;
        const uint ShtGnuVerneed = 0x6ffffffe;

        static readonly string[] LibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        };

        /// <summary>True when the system libstdc++ already defines <paramref name="version"/>.</summary>
        public static bool SystemLibStdCxxHas(string version = MarkerVersion, IEnumerable<string>? candidates = null)
        {
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (var path in candidates ?? LibStdCxxCandidates)
            {
                if (!File.Exists(path)) continue;
                if (IndexOf(File.ReadAllBytes(path), needle) >= 0) return true;
            }
            return false;
        }

        /// <summary>Patches <paramref name="libraryPath"/> in place unless the system does not need it.</summary>
        public static PatchOutcome PatchIfNeeded(string libraryPath, bool? systemHasVersion = null)
        {
            if (systemHasVersion is null && !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return PatchOutcome.NotNeeded;
            if (systemHasVersion ?? SystemLibStdCxxHas()) return PatchOutcome.NotNeeded;
            return SetWeak(libraryPath, MarkerVersion);
        }

        /// <summary>Reads the vna_flags of the Vernaux entry naming <paramref name="version"/>; null if absent.</summary>
        public static ushort? ReadVersionFlags(string libraryPath, string version = MarkerVersion)
        {
            var bytes = File.ReadAllBytes(libraryPath);
            var at = FindVernaux(bytes, version);
            return at < 0 ? null : BitConverter.ToUInt16(bytes, at + 4);
        }

        /// <summary>Sets VER_FLG_WEAK on the Vernaux entry for <paramref name="version"/>. Idempotent.</summary>
        public static PatchOutcome SetWeak(string libraryPath, string version)
        {
            var bytes = File.ReadAllBytes(libraryPath);
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F'
                || bytes[4] != 2 || bytes[5] != 1)
                return PatchOutcome.NotElf; // only 64-bit little-endian ELF is shipped by libtorch-cpu-linux-x64
            var at = FindVernaux(bytes, version);
            if (at < 0) return PatchOutcome.VersionNotReferenced;
            var flags = BitConverter.ToUInt16(bytes, at + 4);
            if ((flags & VerFlagWeak) != 0) return PatchOutcome.AlreadyPatched;

            // Write only the two flag bytes, through a temp copy and an atomic rename, so an interrupted build
            // never leaves a half-written library behind.
            var tmp = libraryPath + ".patching";
            File.Copy(libraryPath, tmp, overwrite: true);
            using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Write))
            {
                fs.Position = at + 4;
                var newFlags = (ushort)(flags | VerFlagWeak);
                fs.WriteByte((byte)(newFlags & 0xff));
                fs.WriteByte((byte)(newFlags >> 8));
            }
            File.Replace(tmp, libraryPath, null); // rename(2): atomic on the same file system
            return PatchOutcome.Patched;
        }

        /// <summary>File offset of the Vernaux entry whose name is <paramref name="version"/>, or -1.</summary>
        static int FindVernaux(byte[] b, string version)
        {
            long shoff = BitConverter.ToInt64(b, 0x28);
            int shentsize = BitConverter.ToUInt16(b, 0x3A);
            int shnum = BitConverter.ToUInt16(b, 0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shnum * shentsize > b.Length) return -1;
            for (int i = 0; i < shnum; i++)
            {
                int sh = (int)(shoff + (long)i * shentsize);
                if (BitConverter.ToUInt32(b, sh + 4) != ShtGnuVerneed) continue;
                long off = BitConverter.ToInt64(b, sh + 0x18);
                int link = BitConverter.ToInt32(b, sh + 0x28);
                int count = BitConverter.ToInt32(b, sh + 0x2C);
                int strSh = (int)(shoff + (long)link * shentsize);
                long strOff = BitConverter.ToInt64(b, strSh + 0x18);

                long vn = off;
                for (int n = 0; n < count && vn + 16 <= b.Length; n++)
                {
                    int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                    for (int a = 0; a < cnt && aux + 16 <= b.Length; a++)
                    {
                        long name = strOff + BitConverter.ToUInt32(b, (int)aux + 8);
                        if (CStringEquals(b, name, version)) return (int)aux;
                        uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                        if (next == 0) break;
                        aux += next;
                    }
                    uint vnNext = BitConverter.ToUInt32(b, (int)vn + 12);
                    if (vnNext == 0) break;
                    vn += vnNext;
                }
            }
            return -1;
        }

        static bool CStringEquals(byte[] b, long at, string s)
        {
            if (at < 0 || at + s.Length >= b.Length) return false;
            for (int i = 0; i < s.Length; i++) if (b[at + i] != (byte)s[i]) return false;
            return b[at + s.Length] == 0;
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }
    }

#if !MODELZOO_LIBRARY
    /// <summary>MSBuild task: patch every libLibTorchSharp.so found directly in the given folders.</summary>
    public class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        public string[] Directories { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            foreach (var dir in Directories)
            {
                var lib = Path.Combine(dir, "libLibTorchSharp.so");
                if (!File.Exists(lib)) continue;
                try
                {
                    var outcome = LibTorchSharpPatch.PatchIfNeeded(lib);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        $"ModelZoo: {lib}: {outcome}");
                }
                catch (Exception e)
                {
                    Log.LogError($"ModelZoo: could not patch {lib}: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
