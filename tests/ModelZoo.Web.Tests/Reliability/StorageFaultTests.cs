using Microsoft.Data.Sqlite;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// The recognition of storage faults, on real SQLite and file-system errors. A read-only database cannot be made
/// end to end here (the tests run as root, whom file permissions do not stop), so SQLite is asked to open the file
/// read-only, which gives the same SQLITE_READONLY a read-only file does.
/// </summary>
public sealed class StorageFaultTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-fault-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AReadOnlyDatabase_IsReportedAsReadOnly_NamingTheFile()
    {
        var paths = new ZooPaths(new StorageOptions { DataDir = _dir }, _dir);
        using (var rw = new SqliteConnection($"Data Source={paths.DatabaseFile};Pooling=False"))
        {
            rw.Open();
            using var create = rw.CreateCommand();
            create.CommandText = "CREATE TABLE t (x INTEGER);";
            create.ExecuteNonQuery();
        }
        using var ro = new SqliteConnection($"Data Source={paths.DatabaseFile};Mode=ReadOnly;Pooling=False");
        ro.Open();
        using var insert = ro.CreateCommand();
        insert.CommandText = "INSERT INTO t VALUES (1);";
        var e = Should.Throw<SqliteException>(() => insert.ExecuteNonQuery());

        var fault = StorageFault.Of(new InvalidOperationException("wrapped", e), paths).ShouldNotBeNull();
        fault.Kind.ShouldBe(StorageFaultKind.DatabaseReadOnly);
        fault.Message.ShouldContain(paths.DatabaseFile);
    }

    [Fact]
    public void AnOrdinaryError_IsNotAStorageFault()
    {
        var paths = new ZooPaths(new StorageOptions { DataDir = _dir }, _dir);
        StorageFault.Of(new IOException("the file is in use"), paths).ShouldBeNull();
        StorageFault.Of(new FileNotFoundException("gone", "x"), paths).ShouldBeNull();
        StorageFault.Of(new InvalidOperationException("no"), paths).ShouldBeNull();
    }
}
