using Microsoft.Data.Sqlite;

namespace ModelZoo.Infrastructure.Storage;

public enum StorageFaultKind { DiskFull, DatabaseLocked, DatabaseReadOnly, DatabaseUnavailable }

/// <summary>
/// A failure of the machine's storage rather than of the request: the disk is full, or the database file is locked by
/// another process, read-only, or cannot be opened. Recognised so that the API, the pages and a failed run can say
/// which file and what to do, instead of a bare 500 or an exception's type name.
/// </summary>
public sealed record StorageFault(StorageFaultKind Kind, string Message)
{
    // errno values on Linux, and the Win32 codes .NET puts in an IOException's HResult on Windows.
    const int Enospc = 28, Edquot = 122, WinDiskFull = 0x70, WinHandleDiskFull = 0x27;

    /// <summary>The fault in <paramref name="e"/> or any exception inside it; null when it is not a storage fault.</summary>
    public static StorageFault? Of(Exception e, ZooPaths paths)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case SqliteException s:
                    var db = paths.DatabaseFile;
                    switch (s.SqliteErrorCode)
                    {
                        case 5 or 6: // SQLITE_BUSY, SQLITE_LOCKED
                            return new(StorageFaultKind.DatabaseLocked, $"The database file {db} is locked by another process, so nothing could be " +
                                "saved; other pages and reads keep working. Close the program that holds it (a backup, an sqlite3 shell) and try again.");
                        case 8: // SQLITE_READONLY
                            return new(StorageFaultKind.DatabaseReadOnly, $"The database file {db} is read-only, so nothing could be saved; " +
                                "reads keep working. Make the file and its folder writable for the portal's user and try again.");
                        case 13: // SQLITE_FULL
                            return new(StorageFaultKind.DiskFull, $"The disk holding the database file {db} is full, so nothing could be saved. " +
                                "Free space in the data folder and try again.");
                        case 14: // SQLITE_CANTOPEN
                            return new(StorageFaultKind.DatabaseUnavailable, $"The database file {db} cannot be opened ({s.Message}).");
                    }
                    break;
                case IOException io when io.HResult is Enospc or Edquot || (io.HResult & 0xFFFF) is WinDiskFull or WinHandleDiskFull:
                    // .NET's message names the file being written: "No space left on device : '<path>'".
                    return new(StorageFaultKind.DiskFull, $"The disk holding the data folder {paths.DataDir} is full: {io.Message}. " +
                        "Nothing was stored and what was stored before is unchanged; free space and try again.");
            }
        }
        return null;
    }
}
