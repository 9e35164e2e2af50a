using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelZoo.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Experiments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "experiments",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    DatasetId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    PlanJson = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    CancelledAt = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_experiments", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_experiments_CreatedAt",
                table: "experiments",
                column: "CreatedAt");

            // A transferability sweep is an experiment of kind 'sweep': it keeps its id (so its runs' links and any
            // shared /sweeps/{id} link stay valid) and its shared request becomes the plan. The sweep's model stays
            // in that request, so nothing is lost with the sweeps table.
            migrationBuilder.Sql(
                "INSERT INTO experiments (Id, Kind, Name, DatasetId, PlanJson, CreatedAt, CancelledAt) " +
                "SELECT Id, 'sweep', 'Sweep ' || ModelId || ' on ' || DatasetId, DatasetId, RequestJson, CreatedAt, NULL FROM sweeps;");

            migrationBuilder.DropTable(
                name: "sweeps");

            migrationBuilder.RenameColumn(
                name: "SweepId",
                table: "runs",
                newName: "ExperimentId");

            migrationBuilder.RenameIndex(
                name: "IX_runs_SweepId",
                table: "runs",
                newName: "IX_runs_ExperimentId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sweeps",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    DatasetId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    ModelId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    RequestJson = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sweeps", x => x.Id);
                });

            // Sweeps go back to their table; grid runs lose their link (before experiments a run belonged to a sweep
            // or to nothing), and the grids themselves cannot be expressed in the older schema.
            if (migrationBuilder.ActiveProvider == "Microsoft.EntityFrameworkCore.Sqlite")
                migrationBuilder.Sql(
                    "INSERT INTO sweeps (Id, CreatedAt, DatasetId, ModelId, RequestJson) " +
                    "SELECT Id, CreatedAt, DatasetId, COALESCE(json_extract(PlanJson, '$.modelId'), ''), PlanJson FROM experiments WHERE Kind = 'sweep';");
            migrationBuilder.Sql("UPDATE runs SET ExperimentId = NULL WHERE ExperimentId IN (SELECT Id FROM experiments WHERE Kind <> 'sweep');");

            migrationBuilder.DropTable(
                name: "experiments");

            migrationBuilder.RenameColumn(
                name: "ExperimentId",
                table: "runs",
                newName: "SweepId");

            migrationBuilder.RenameIndex(
                name: "IX_runs_ExperimentId",
                table: "runs",
                newName: "IX_runs_SweepId");
        }
    }
}
