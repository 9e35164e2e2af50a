using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// Real .deb files for the tests: <see cref="Build"/> lays out a package tree and runs <c>dpkg-deb --build</c> (the
/// payload is data.tar.xz, as in Debian's archive); <see cref="HandMade"/> writes the ar container itself, for
/// payloads dpkg-deb would never produce (paths that escape).
/// </summary>
public static class DebFixtures
{
    public static string Build(string dir, string package, IReadOnlyDictionary<string, byte[]> files)
    {
        var root = Directory.CreateDirectory(Path.Combine(dir, $"tree-{Guid.NewGuid():N}")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
            $"Package: {package}\nVersion: 1.0-test1\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: test fixture\n");
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
        }
        var deb = Path.Combine(dir, $"{package}_1.0-test1_all.deb");
        var psi = new ProcessStartInfo("dpkg-deb", ["--root-owner-group", "--build", root, deb]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"dpkg-deb --build failed: {err}");
        Directory.Delete(root, recursive: true);
        return deb;
    }

    /// <summary>An ar archive with debian-binary, control.tar.gz and a data.tar.gz holding <paramref name="data"/>.</summary>
    public static string HandMade(string dir, IEnumerable<(string Name, byte[] Content)> data)
    {
        var path = Path.Combine(dir, $"handmade-{Guid.NewGuid():N}.deb");
        using var fs = File.Create(path);
        fs.Write("!<arch>\n"u8);
        Member(fs, "debian-binary", "2.0\n"u8.ToArray());
        Member(fs, "control.tar.gz", TarGz([("./control", "Package: evil\nVersion: 1\nArchitecture: all\nMaintainer: x <x@x>\nDescription: x\n"u8.ToArray())]));
        Member(fs, "data.tar.gz", TarGz(data));
        return path;
    }

    static byte[] TarGz(IEnumerable<(string Name, byte[] Content)> entries)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Gnu))
            foreach (var (name, content) in entries)
                tar.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        return ms.ToArray();
    }

    static void Member(Stream s, string name, byte[] content)
    {
        // ar header: name 16, mtime 12, uid 6, gid 6, mode 8, size 10, magic "`\n"; data padded to an even length.
        var header = $"{name,-16}{"0",-12}{"0",-6}{"0",-6}{"100644",-8}{content.Length,-10}`\n";
        s.Write(Encoding.ASCII.GetBytes(header));
        s.Write(content);
        if (content.Length % 2 == 1) s.WriteByte((byte)'\n');
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>An idx-ubyte file: 0, 0, 0x08, the number of dimensions, big-endian sizes, then the bytes.</summary>
    public static byte[] Idx(int[] dims, byte[] data)
    {
        var header = new List<byte> { 0, 0, 0x08, (byte)dims.Length };
        foreach (var d in dims) header.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        return [.. header, .. data];
    }
}
