//! The scope each course-service method needs: reads `catalog.read`,
//! changes `catalog.write`. The server refuses to start if a method of the
//! contract is missing here.

use academy_runtime::auth::scope::{CATALOG_READ, CATALOG_WRITE};

pub const COURSE_SERVICE: &[(&str, &str)] = &[
    ("CreateSkill", CATALOG_WRITE),
    ("ListSkills", CATALOG_READ),
    ("CreateCourse", CATALOG_WRITE),
    ("GetCourse", CATALOG_READ),
    ("ListCourses", CATALOG_READ),
    ("UpdateCourse", CATALOG_WRITE),
    ("PublishCourse", CATALOG_WRITE),
    ("ArchiveCourse", CATALOG_WRITE),
    ("CreateProgram", CATALOG_WRITE),
    ("GetProgram", CATALOG_READ),
    ("ListPrograms", CATALOG_READ),
    ("AddCourseToProgram", CATALOG_WRITE),
    ("LookupCourse", CATALOG_READ),
];
